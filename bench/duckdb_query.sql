-- The benchmark's hand-written reference: per-collector metric values of bench/scheme.yaml,
-- straight from /work/shared/spec/metrics.md, in one DuckDB query.
--
-- bench/duckdb_query.py defines the views `cases`, `contacts`, `reviews`, `roster` over the
-- Parquet or CSV files and fills the {placeholders} from the scheme (month, sla_days,
-- followup_hours, params.target_amount).
--
-- Definitions (every rate is a ratio of two sums over the collector's rows; a zero
-- denominator gives NULL, never 0):
--  * money is summed in integer cents (round(x * 100)), 0–100 scores in hundredths;
--  * "settled" = settled_date on or before the month's last day; "paid" likewise for
--    first_payment_date; days are whole calendar days (date − date);
--  * contacts belong to the month by contacted_at's date; only those rows count anywhere
--    (including contact_coverage);
--  * contact_coverage = case rows whose (collector_id, case_id) has ≥ 1 contact of the
--    month by that same collector / case rows;
--  * followup_timeliness = contacts with logged_at − contacted_at ≤ followup_hours
--    / contacts with a logged_at;
--  * call_quality = mean qa_score over the collector's sampled calls, else (no sampled
--    call) the mean of reviews.call_quality;
--  * a collector's team: the team holding most of their case rows (ties: lowest team_id),
--    overridden by the roster's team; team_recovery_rate pools the team's sums;
--  * target: the roster's target_amount, else params.target_amount.
WITH
case_rows AS (
    SELECT
        collector_id,
        team_id,
        case_id,
        round(overdue_amount * 100)::BIGINT AS overdue_c,
        round(recovered_amount * 100)::BIGINT AS recovered_c,
        coalesce(round(waived_amount * 100)::BIGINT, 0) AS waived_c,
        coalesce(settled_date <= DATE '{month_end}', false) AS settled,
        coalesce(first_payment_date <= DATE '{month_end}', false) AS paid,
        settled_date - assigned_date AS handling_days,
        first_payment_date - assigned_date AS cycle_days
    FROM cases
),
contacts_in_month AS (
    SELECT *
    FROM contacts
    WHERE contacted_at >= TIMESTAMP '{month_start} 00:00:00'
      AND contacted_at < TIMESTAMP '{next_month_start} 00:00:00'
),
contact_pairs AS (
    SELECT DISTINCT collector_id, case_id FROM contacts_in_month
),
case_sums AS (
    SELECT
        c.collector_id,
        count(*) AS case_rows,
        sum(recovered_c) AS recovered_c,
        sum(overdue_c) AS overdue_c,
        sum(waived_c) AS waived_c,
        count(*) FILTER (WHERE settled) AS settled_cases,
        coalesce(sum(overdue_c) FILTER (WHERE settled), 0) AS settled_overdue_c,
        count(*) FILTER (WHERE recovered_c > 0) AS paying_cases,
        coalesce(sum(handling_days) FILTER (WHERE settled), 0) AS handling_days_total,
        count(*) FILTER (WHERE settled AND handling_days <= {sla_days}) AS settled_on_time,
        count(*) FILTER (WHERE paid) AS first_paid_cases,
        coalesce(sum(cycle_days) FILTER (WHERE paid), 0) AS cycle_days_total,
        count(p.case_id) AS contacted_cases
    FROM case_rows AS c
    LEFT JOIN contact_pairs AS p
        ON p.collector_id = c.collector_id AND p.case_id = c.case_id
    GROUP BY c.collector_id
),
case_team AS (
    SELECT collector_id, first(team_id ORDER BY n DESC, team_id) AS team_id
    FROM (SELECT collector_id, team_id, count(*) AS n FROM cases GROUP BY collector_id, team_id)
    GROUP BY collector_id
),
contact_sums AS (
    SELECT
        collector_id,
        count(*) FILTER (WHERE channel = 'call') AS calls,
        count(*) FILTER (WHERE channel = 'call' AND outcome = 'connected') AS connected_calls,
        count(*) FILTER (WHERE channel = 'call' AND outcome = 'connected' AND ptp) AS ptp_connected_calls,
        count(*) FILTER (WHERE channel = 'sms' AND outcome <> 'failed') AS sms_not_failed,
        count(*) FILTER (WHERE channel = 'sms' AND outcome = 'replied') AS sms_replied,
        count(*) FILTER (WHERE channel = 'visit') AS visits,
        count(*) FILTER (WHERE channel = 'visit' AND outcome = 'completed') AS visits_completed,
        count(*) FILTER (WHERE channel = 'call' AND qa_score IS NOT NULL) AS qa_sampled_calls,
        coalesce(sum(round(qa_score * 100)::BIGINT) FILTER (WHERE channel = 'call'), 0) AS qa_total_h,
        count(logged_at) AS logged_contacts,
        count(*) FILTER (
            WHERE epoch_us(logged_at) - epoch_us(contacted_at) <= {followup_us}
        ) AS logged_on_time
    FROM contacts_in_month
    GROUP BY collector_id
),
review_sums AS (
    SELECT
        collector_id,
        coalesce(sum(round(call_quality * 100)::BIGINT), 0) AS review_cq_h,
        count(call_quality) AS review_cq_n,
        coalesce(sum(round(knowledge * 100)::BIGINT), 0) AS knowledge_h,
        count(knowledge) AS knowledge_n,
        coalesce(sum(round(teamwork * 100)::BIGINT), 0) AS teamwork_h,
        count(teamwork) AS teamwork_n,
        coalesce(sum(violations), 0)::BIGINT AS violations
    FROM reviews
    GROUP BY collector_id
),
roster_sums AS (
    SELECT
        collector_id,
        min(team_id) AS roster_team,
        sum(round(target_amount * 100)::BIGINT) AS target_c  -- NULL when no row has a target
    FROM roster
    GROUP BY collector_id
),
ids AS (
    SELECT collector_id FROM case_sums
    UNION SELECT collector_id FROM contact_sums
    UNION SELECT collector_id FROM review_sums
    UNION SELECT collector_id FROM roster_sums
),
sums AS (
    SELECT
        i.collector_id,
        coalesce(r.roster_team, t.team_id) AS team_id,
        coalesce(r.target_c, {default_target_c}) AS target_c,
        coalesce(c.case_rows, 0) AS case_rows,
        coalesce(c.recovered_c, 0) AS recovered_c,
        coalesce(c.overdue_c, 0) AS overdue_c,
        coalesce(c.waived_c, 0) AS waived_c,
        coalesce(c.settled_cases, 0) AS settled_cases,
        coalesce(c.settled_overdue_c, 0) AS settled_overdue_c,
        coalesce(c.paying_cases, 0) AS paying_cases,
        coalesce(c.handling_days_total, 0) AS handling_days_total,
        coalesce(c.settled_on_time, 0) AS settled_on_time,
        coalesce(c.first_paid_cases, 0) AS first_paid_cases,
        coalesce(c.cycle_days_total, 0) AS cycle_days_total,
        coalesce(c.contacted_cases, 0) AS contacted_cases,
        coalesce(k.calls, 0) AS calls,
        coalesce(k.connected_calls, 0) AS connected_calls,
        coalesce(k.ptp_connected_calls, 0) AS ptp_connected_calls,
        coalesce(k.sms_not_failed, 0) AS sms_not_failed,
        coalesce(k.sms_replied, 0) AS sms_replied,
        coalesce(k.visits, 0) AS visits,
        coalesce(k.visits_completed, 0) AS visits_completed,
        coalesce(k.qa_sampled_calls, 0) AS qa_sampled_calls,
        coalesce(k.qa_total_h, 0) AS qa_total_h,
        coalesce(k.logged_contacts, 0) AS logged_contacts,
        coalesce(k.logged_on_time, 0) AS logged_on_time,
        coalesce(v.review_cq_h, 0) AS review_cq_h,
        coalesce(v.review_cq_n, 0) AS review_cq_n,
        coalesce(v.knowledge_h, 0) AS knowledge_h,
        coalesce(v.knowledge_n, 0) AS knowledge_n,
        coalesce(v.teamwork_h, 0) AS teamwork_h,
        coalesce(v.teamwork_n, 0) AS teamwork_n,
        coalesce(v.violations, 0) AS violations
    FROM ids AS i
    LEFT JOIN case_sums AS c USING (collector_id)
    LEFT JOIN case_team AS t USING (collector_id)
    LEFT JOIN contact_sums AS k USING (collector_id)
    LEFT JOIN review_sums AS v USING (collector_id)
    LEFT JOIN roster_sums AS r USING (collector_id)
),
team_sums AS (
    SELECT team_id, sum(recovered_c) AS recovered_c, sum(overdue_c) AS overdue_c
    FROM sums
    WHERE team_id IS NOT NULL
    GROUP BY team_id
)
SELECT
    s.collector_id,
    s.team_id,
    s.case_rows AS case_count,
    s.recovered_c / 100.0 AS recovered_amount,
    CASE WHEN s.target_c > 0 THEN s.recovered_c::DOUBLE / s.target_c END AS target_attainment,
    CASE WHEN s.overdue_c > 0 THEN s.recovered_c::DOUBLE / s.overdue_c END AS recovery_rate,
    CASE WHEN s.case_rows > 0 THEN s.settled_cases::DOUBLE / s.case_rows END AS settlement_rate,
    CASE WHEN s.overdue_c > 0 THEN s.settled_overdue_c::DOUBLE / s.overdue_c END AS settled_amount_rate,
    CASE WHEN s.case_rows > 0 THEN s.paying_cases::DOUBLE / s.case_rows END AS success_rate,
    CASE WHEN t.overdue_c > 0 THEN t.recovered_c::DOUBLE / t.overdue_c END AS team_recovery_rate,
    CASE WHEN s.calls > 0 THEN s.connected_calls::DOUBLE / s.calls END AS call_connect_rate,
    CASE WHEN s.sms_not_failed > 0 THEN s.sms_replied::DOUBLE / s.sms_not_failed END AS sms_reply_rate,
    CASE WHEN s.visits > 0 THEN s.visits_completed::DOUBLE / s.visits END AS visit_rate,
    CASE WHEN s.connected_calls > 0 THEN s.ptp_connected_calls::DOUBLE / s.connected_calls END AS ptp_rate,
    CASE WHEN s.case_rows > 0 THEN s.contacted_cases::DOUBLE / s.case_rows END AS contact_coverage,
    CASE WHEN s.logged_contacts > 0 THEN s.logged_on_time::DOUBLE / s.logged_contacts END AS followup_timeliness,
    CASE WHEN s.settled_cases > 0 THEN s.handling_days_total::DOUBLE / s.settled_cases END AS handling_days,
    CASE WHEN s.settled_cases > 0 THEN s.settled_on_time::DOUBLE / s.settled_cases END AS on_time_rate,
    CASE WHEN s.first_paid_cases > 0 THEN s.cycle_days_total::DOUBLE / s.first_paid_cases END AS cycle_days,
    CASE WHEN s.recovered_c + s.waived_c > 0
        THEN s.waived_c::DOUBLE / (s.recovered_c + s.waived_c) END AS waiver_rate,
    coalesce(
        CASE WHEN s.qa_sampled_calls > 0 THEN s.qa_total_h::DOUBLE / (s.qa_sampled_calls * 100) END,
        CASE WHEN s.review_cq_n > 0 THEN s.review_cq_h::DOUBLE / (s.review_cq_n * 100) END
    ) AS call_quality,
    CASE WHEN s.knowledge_n > 0 THEN s.knowledge_h::DOUBLE / (s.knowledge_n * 100) END AS knowledge,
    CASE WHEN s.teamwork_n > 0 THEN s.teamwork_h::DOUBLE / (s.teamwork_n * 100) END AS teamwork,
    s.violations
FROM sums AS s
LEFT JOIN team_sums AS t USING (team_id)
ORDER BY s.collector_id
