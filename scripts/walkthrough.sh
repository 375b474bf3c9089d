#!/usr/bin/env bash
# The README's walkthrough: take a demo lead from `new` through conversion to a won
# opportunity with nothing but curl and jq. Needs a monolith started with --seed-demo.
#   API=http://127.0.0.1:8080/api/v1 scripts/walkthrough.sh
# CI runs it too (crm-monolith/tests/walkthrough.rs), so the README cannot drift.
set -euo pipefail
API=${API:-http://127.0.0.1:8080/api/v1}
json=(-H 'content-type: application/json')
fail() { echo "walkthrough failed: $*" >&2; exit 1; }

# 1. Sign in as the demo admin.
TOKEN=$(curl -sf "$API/auth/login" "${json[@]}" \
  -d '{"email": "admin@demo.crm", "password": "demo-password"}' | jq -r .access_token)
auth=(-H "authorization: Bearer $TOKEN")

# 2. Find the lead "Ada Lovelace" (status new) with the filter language.
LEAD=$(curl -sfG "$API/leads" "${auth[@]}" --data-urlencode 'filter=name[eq]:"Ada Lovelace"' | jq -r '.data[0].id')
[ "$LEAD" != null ] || fail "demo lead not found"
echo "lead $LEAD: $(curl -sf "$API/leads/$LEAD" "${auth[@]}" | jq -c '{status, score}')"

# 3. Assign it round-robin to the next rep, then start working it.
curl -sf -X POST "$API/leads/$LEAD/assign" "${auth[@]}" "${json[@]}" -d '{}' | jq -c '{status, owner_id}'
curl -sf -X POST "$API/leads/$LEAD/qualify" "${auth[@]}" "${json[@]}" -d '{}' | jq -c '{status}'

# 4. Convert it: a company, a contact and an opportunity, in one step (all or nothing).
CONVERSION=$(curl -sf -X POST "$API/leads/$LEAD/convert" "${auth[@]}" "${json[@]}" \
  -H "idempotency-key: walkthrough-$LEAD" -d '{"opportunity": {"close_date": "2027-03-31"}}')
echo "$CONVERSION" | jq -c '{lead: .lead.status, company: .company.name, contact: .contact.first_name, opportunity: .opportunity.stage_key, amount: .opportunity.amount}'
OPP=$(echo "$CONVERSION" | jq -r .opportunity.id)
COMPANY=$(echo "$CONVERSION" | jq -r .company.id)

# 5. Move the opportunity through the stages to won; If-Match carries the version we saw.
VERSION=$(echo "$CONVERSION" | jq -r .opportunity.version)
for STAGE in qualification proposal negotiation closed_won; do
  OPPORTUNITY=$(curl -sf -X POST "$API/opportunities/$OPP/move" "${auth[@]}" "${json[@]}" \
    -H "if-match: \"$VERSION\"" -d "{\"stage_key\": \"$STAGE\"}")
  VERSION=$(echo "$OPPORTUNITY" | jq -r .version)
  echo "$OPPORTUNITY" | jq -c '{stage_key, status, probability, closed_at}'
done
[ "$(echo "$OPPORTUNITY" | jq -r .status)" = won ] || fail "the opportunity is not won"

# 6. Its stage history, the company's 360 view, and the (event-fed) win rate.
curl -sf "$API/opportunities/$OPP/stage-history" "${auth[@]}" | jq -c '[.data[] | .to_key]'
curl -sf "$API/companies/$COMPANY/overview" "${auth[@]}" | jq -c '{company: .company.name, contacts: (.contacts | length), open_opportunities: (.open_opportunities | length)}'
for _ in $(seq 50); do
  WON=$(curl -sf "$API/analytics/win-rate" "${auth[@]}" | jq -r .won)
  [ "$WON" -ge 1 ] && break
  sleep 0.2
done
curl -sf "$API/analytics/win-rate" "${auth[@]}" | jq -c '{won, lost, win_rate}'
[ "$WON" -ge 1 ] || fail "the win never reached analytics"
echo "walkthrough complete"
