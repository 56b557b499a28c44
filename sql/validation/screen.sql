-- screen: one row saying whether any row-level check could find something, from the small
-- tables alone (column_profile, stg_periods, stg_entity_axis). When `clean`, every row-level
-- check provably returns no rows, so the run skips them and the text of the file is never
-- held in memory; otherwise raw_input is built and every check lists its offending rows.
-- It also describes the time axis, in the same columns as detect_grain.sql.
--
-- The proof for the time axis: when consecutive distinct dates across the whole file are
-- all one grain step apart, and every entity covers an unbroken run of them once each, no
-- entity has a gap, an irregular step or a duplicate (entity_id, period_start).
with cells as (
    select
        coalesce(sum(n_rows - n_numeric), 0) as n_blank_or_text_cells,
        coalesce(sum(n_non_finite), 0) as n_non_finite_cells,
        coalesce(sum(n_negative) filter (where role in ('target', 'activity', 'spend')), 0)
            as n_negative_cells
    from column_profile
),

periods as (
    select
        count(*) filter (
            where "period_start" is null or trim("period_start") = ''
        ) as n_blank_period_texts,
        count(*) filter (
            where "_period_date" is null and trim(coalesce("period_start", '')) <> ''
        ) as n_unparseable_period_texts
    from stg_periods
),

dates as (
    select distinct "_period_date" as period_date
    from stg_periods
    where "_period_date" is not null
),

global_steps as (
    select
        date_diff('day', lag(period_date) over (order by period_date), period_date) as step_days,
        date_diff('month', lag(period_date) over (order by period_date), period_date) as step_months
    from dates
),

axis as (
    select
        case
            when count(step_days) = count(*) filter (where step_days = 7) then 'WEEK'
            when count(step_days) = count(*) filter (
                where step_months = 1 and step_days between 28 and 31
            ) then 'MONTH'
        end as axis_grain
    from global_steps
),

entities as (
    select
        count(*) filter (where "entity_id" is null or trim("entity_id") = '') as n_blank_entity_ids,
        count(*) filter (where n_dated_rows > n_periods) as n_entities_with_duplicates,
        count(*) filter (where n_periods < last_index - first_index + 1) as n_entities_with_gaps,
        coalesce(sum(n_periods - 1) filter (where n_periods > 0), 0) as n_steps,
        count(distinct "entity_id") filter (where n_dated_rows > 0) as n_entities,
        list("entity_id" order by "entity_id") filter (
            where n_dated_rows > 0 and "entity_id" is not null
        ) as entities,
        strftime(min(first_period), '%Y-%m-%d') as first_period,
        strftime(max(last_period), '%Y-%m-%d') as last_period
    from stg_entity_axis
),

final as (
    select
        c.n_blank_or_text_cells = 0
        and c.n_non_finite_cells = 0
        and c.n_negative_cells = 0
        and p.n_blank_period_texts = 0
        and p.n_unparseable_period_texts = 0
        and e.n_blank_entity_ids = 0
        and e.n_entities_with_duplicates = 0
        and e.n_entities_with_gaps = 0
        and a.axis_grain is not null as clean,
        case when e.n_steps = 0 then 'UNKNOWN' else coalesce(a.axis_grain, 'UNKNOWN') end as grain,
        case when a.axis_grain = 'WEEK' then e.n_steps else 0 end as week_steps,
        case when a.axis_grain = 'MONTH' then e.n_steps else 0 end as month_steps,
        (select count(*) from dates) as n_periods,
        e.n_entities,
        e.entities,
        e.first_period,
        e.last_period,
        struct_pack(
            n_blank_or_text_cells := c.n_blank_or_text_cells,
            n_non_finite_cells := c.n_non_finite_cells,
            n_negative_cells := c.n_negative_cells,
            n_blank_period_texts := p.n_blank_period_texts,
            n_unparseable_period_texts := p.n_unparseable_period_texts,
            n_blank_entity_ids := e.n_blank_entity_ids,
            n_entities_with_duplicates := e.n_entities_with_duplicates,
            n_entities_with_gaps := e.n_entities_with_gaps,
            axis_is_regular := a.axis_grain is not null
        ) as findings
    from cells as c, periods as p, axis as a, entities as e
)

select * from final
