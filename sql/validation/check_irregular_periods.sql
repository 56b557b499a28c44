-- check: irregular_periods
-- severity: error
-- level: row
-- description: within each entity, consecutive periods are one grain step apart (no gaps, no mixed spacing)
-- Params: $grain ('WEEK' or 'MONTH'; anything else flags every step)
with measured as (
    select * from stg_entity_periods
    where previous_date is not null
),

final as (
    select
        'period_start' as column_name,
        null::bigint as line,
        "entity_id",
        strftime(period_date, '%Y-%m-%d') as "period_start",
        strftime(previous_date, '%Y-%m-%d') || ' -> ' || strftime(period_date, '%Y-%m-%d') as value,
        case
            when $grain = 'WEEK' and step_days > 7 and step_days % 7 = 0
                then 'gap: ' || (step_days // 7 - 1) || ' missing week(s)'
            when $grain = 'MONTH' and step_months > 1 and step_days > 31
                then 'gap: ' || (step_months - 1) || ' missing month(s)'
            else 'irregular spacing of ' || step_days || ' days for grain ' || $grain
        end as problem
    from measured
    where not (
        ($grain = 'WEEK' and step_days = 7)
        or ($grain = 'MONTH' and step_months = 1 and step_days between 28 and 31)
    )
)

select * from final
order by "entity_id", "period_start"
