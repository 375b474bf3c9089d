use super::*;
use proptest::prelude::*;

fn facts(probability: i64, is_closed: bool, is_won: bool) -> StageFacts {
    StageFacts {
        id: Uuid::new_v4(),
        probability,
        is_closed,
        is_won,
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn open_standing(stage: &StageFacts) -> Standing {
    enter(stage, Request::default(), now()).unwrap()
}

/// A won or lost standing in `stage` (a closed one), with a reason when lost.
fn closed_standing(stage: &StageFacts) -> Standing {
    let loss_reason = if stage.is_won {
        Patch::Absent
    } else {
        Patch::Value("r".into())
    };
    let req = Request {
        loss_reason,
        ..Request::default()
    };
    enter(stage, req, now()).unwrap()
}

fn fields(e: RuleError) -> Vec<String> {
    match e {
        RuleError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn stage_keys_are_slugs() {
    assert_eq!(stage_key("k", " closed_won ").unwrap(), "closed_won");
    for bad in ["", "Closed", "a-b", "é", &"a".repeat(41)] {
        assert!(stage_key("k", bad).is_err(), "{bad}");
    }
}

#[test]
fn default_stages_follow_the_stage_rules() {
    for s in DEFAULT_STAGES {
        assert!(stage_key("k", s.key).is_ok());
        assert!(s.is_closed || !s.is_won);
        assert!(FORECAST_CATEGORIES.contains(&s.forecast_category));
        if s.is_closed {
            assert_eq!(s.forecast_category, default_forecast(true, s.is_won));
        }
    }
    assert_eq!(DEFAULT_STAGES.iter().filter(|s| s.is_won).count(), 1);
}

#[test]
fn winning_sets_probability_100_and_closed_at() {
    let open = open_standing(&facts(20, false, false));
    let won = change(&open, &facts(100, true, true), Request::default(), now()).unwrap();
    assert_eq!((won.status, won.probability), (Status::Won, 100));
    assert!(won.closed_at.is_some());
}

#[test]
fn losing_requires_a_reason_and_zeroes_probability() {
    let open = open_standing(&facts(20, false, false));
    let lost = facts(0, true, false);
    let e = change(&open, &lost, Request::default(), now()).unwrap_err();
    assert_eq!(fields(e), ["loss_reason"]);
    let req = Request {
        loss_reason: Patch::Value("price".into()),
        ..Request::default()
    };
    let s = change(&open, &lost, req, now()).unwrap();
    assert_eq!((s.status, s.probability), (Status::Lost, 0));
    assert_eq!(s.loss_reason.as_deref(), Some("price"));
}

#[test]
fn a_closed_opportunity_keeps_its_stage_until_reopened() {
    let won = enter(&facts(100, true, true), Request::default(), now()).unwrap();
    let other = facts(50, false, false);
    assert_eq!(
        change(&won, &other, Request::default(), now()),
        Err(RuleError::Closed)
    );
    let back = reopen(&won, &other).unwrap();
    assert_eq!(back.status, Status::Open);
    assert_eq!(back.probability, 50);
    assert_eq!((back.closed_at, &back.loss_reason), (None, &None));
    assert_eq!(reopen(&back, &other), Err(RuleError::NotClosed));
    assert_eq!(
        reopen(&won, &facts(0, true, false)),
        Err(RuleError::StageNotOpen)
    );
}

#[test]
fn editing_a_closed_opportunity_keeps_its_fixed_values() {
    let req = Request {
        loss_reason: Patch::Value("budget".into()),
        ..Request::default()
    };
    let lost = enter(&facts(0, true, false), req, now()).unwrap();
    let e = edit(
        &lost,
        Request {
            probability: Patch::Value(30),
            loss_reason: Patch::Null,
        },
    )
    .unwrap_err();
    assert_eq!(fields(e), ["probability", "loss_reason"]);
    let fixed = edit(
        &lost,
        Request {
            loss_reason: Patch::Value("timing".into()),
            ..Request::default()
        },
    )
    .unwrap();
    assert_eq!(fixed.loss_reason.as_deref(), Some("timing"));
}

#[test]
fn a_loss_reason_on_an_open_opportunity_is_refused() {
    let req = Request {
        loss_reason: Patch::Value("x".into()),
        ..Request::default()
    };
    let e = enter(&facts(10, false, false), req, now()).unwrap_err();
    assert_eq!(fields(e), ["loss_reason"]);
}

fn any_stage() -> impl Strategy<Value = StageFacts> {
    (0i64..=100, any::<bool>(), any::<bool>()).prop_map(|(p, closed, won)| {
        // is_won implies is_closed, as stages are validated.
        facts(p, closed || won, won)
    })
}

fn closed_stage() -> impl Strategy<Value = StageFacts> {
    (0i64..=100, any::<bool>()).prop_map(|(p, won)| facts(p, true, won))
}

fn open_stage() -> impl Strategy<Value = StageFacts> {
    (0i64..=100).prop_map(|p| facts(p, false, false))
}

fn any_request() -> impl Strategy<Value = Request> {
    let probability = prop_oneof![
        Just(Patch::Absent),
        Just(Patch::Null),
        (0i64..=100).prop_map(Patch::Value)
    ];
    let loss = prop_oneof![
        Just(Patch::Absent),
        Just(Patch::Null),
        "[a-z]{1,10}".prop_map(Patch::Value)
    ];
    (probability, loss).prop_map(|(probability, loss_reason)| Request {
        probability,
        loss_reason,
    })
}

proptest! {
    #[test]
    fn every_accepted_standing_is_consistent(
        from in any_stage(), to in any_stage(), first in any_request(), then in any_request()
    ) {
        let Ok(current) = enter(&from, first, now()) else { return Ok(()) };
        for s in [Some(current.clone()), change(&current, &to, then, now()).ok()].into_iter().flatten() {
            prop_assert!((0..=100).contains(&s.probability));
            prop_assert_eq!(s.closed_at.is_some(), s.status.is_closed());
            prop_assert_eq!(s.loss_reason.is_some(), s.status == Status::Lost);
            if s.status == Status::Won { prop_assert_eq!(s.probability, 100); }
            if s.status == Status::Lost { prop_assert_eq!(s.probability, 0); }
        }
    }

    #[test]
    fn a_closed_opportunity_never_changes_stage(closed in closed_stage(), to in any_stage(), req in any_request()) {
        let current = closed_standing(&closed);
        prop_assert_eq!(change(&current, &to, req, now()), Err(RuleError::Closed));
    }

    #[test]
    fn reopening_lands_open_on_the_stage_default(closed in closed_stage(), to in open_stage()) {
        let current = closed_standing(&closed);
        let s = reopen(&current, &to).unwrap();
        prop_assert_eq!(s.status, Status::Open);
        prop_assert_eq!(s.probability, to.probability);
        prop_assert_eq!(s.stage_id, to.id);
    }

    #[test]
    fn stage_keys_never_panic_and_accepted_ones_are_slugs(s in "\\PC{0,50}") {
        if let Ok(k) = stage_key("k", &s) {
            prop_assert!(k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            prop_assert_eq!(stage_key("k", &k).unwrap(), k.clone());
        }
    }
}
