//! Field specifications: which fields of a record exist, their SQL columns and types, and
//! whether they may be filtered or sorted on.

/// The type of a field, which decides the operators it accepts and how literals are parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Uuid,
    Text,
    Int,
    Bool,
    Timestamp,
    Date,
    /// Text restricted to a fixed set of values.
    Enum(&'static [&'static str]),
}

impl FieldKind {
    pub fn describe(self) -> &'static str {
        match self {
            FieldKind::Uuid => "id",
            FieldKind::Text => "text",
            FieldKind::Int => "integer",
            FieldKind::Bool => "boolean",
            FieldKind::Timestamp => "timestamp",
            FieldKind::Date => "date",
            FieldKind::Enum(_) => "enum",
        }
    }
}

/// One field of a record as the list language sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The public name, as in the JSON record (dotted for nested values: `annual_revenue.amount_micros`).
    pub name: &'static str,
    /// The SQL column (or expression) it maps to.
    pub column: &'static str,
    pub kind: FieldKind,
    pub nullable: bool,
    pub sortable: bool,
    pub filterable: bool,
}

impl FieldSpec {
    /// A non-null, sortable and filterable field whose column has the same name.
    pub const fn new(name: &'static str, kind: FieldKind) -> Self {
        FieldSpec {
            name,
            column: name,
            kind,
            nullable: false,
            sortable: true,
            filterable: true,
        }
    }

    pub const fn column(mut self, column: &'static str) -> Self {
        self.column = column;
        self
    }

    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    /// Filterable but not sortable (sorting would need an index we do not keep).
    pub const fn no_sort(mut self) -> Self {
        self.sortable = false;
        self
    }
}

/// Fields every record has.
pub const COMMON_FIELDS: &[FieldSpec] = &[
    FieldSpec::new("id", FieldKind::Uuid),
    FieldSpec::new("created_at", FieldKind::Timestamp),
    FieldSpec::new("updated_at", FieldKind::Timestamp),
    FieldSpec::new("created_by", FieldKind::Uuid)
        .nullable()
        .no_sort(),
    FieldSpec::new("updated_by", FieldKind::Uuid)
        .nullable()
        .no_sort(),
    FieldSpec::new("version", FieldKind::Int).no_sort(),
    FieldSpec::new("deleted_at", FieldKind::Timestamp)
        .nullable()
        .no_sort(),
];

/// Looks a public field name up in a resource's fields, then in the common ones.
pub fn lookup(fields: &'static [FieldSpec], name: &str) -> Option<&'static FieldSpec> {
    fields.iter().chain(COMMON_FIELDS).find(|f| f.name == name)
}

/// Names of the fields for which `pred` holds, for error messages.
pub fn names(fields: &'static [FieldSpec], pred: impl Fn(&FieldSpec) -> bool) -> String {
    let mut v: Vec<&str> = fields
        .iter()
        .chain(COMMON_FIELDS)
        .filter(|f| pred(f))
        .map(|f| f.name)
        .collect();
    v.dedup();
    v.join(", ")
}
