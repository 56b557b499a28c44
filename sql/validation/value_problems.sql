-- value_problems: one row per used cell that is blank, not a number, not finite, or a negative
-- target/activity/spend. One pass over the long form; good data leaves this table empty, and
-- each value check below reads its kind from here.
with classified as (
    select
        *,
        case
            when value_text is null or trim(value_text) = '' then 'missing'
            when value is null then 'non_numeric'
            when isnan(value) or isinf(value) then 'non_finite'
            when role in ('target', 'activity', 'spend') and value < 0 then 'negative'
        end as kind
    from stg_observations
),

final as (
    select * from classified
    where kind is not null
)

select * from final
