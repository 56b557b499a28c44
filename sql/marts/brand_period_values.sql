-- brand_period_values: one row per (period, column) at brand level.
-- Target, activity and spend are summed over entities; controls are averaged.
-- Aggregates run in entity order so float sums do not depend on the input's row order.
with final as (
    select
        "_period_date" as period_start,
        column_name,
        any_value(role) as role,
        case
            when any_value(role) = 'control' then avg(value order by "entity_id")
            else sum(value order by "entity_id")
        end as value,
        count(distinct "entity_id") as n_entities
    from stg_observations
    group by "_period_date", column_name
)

select * from final
