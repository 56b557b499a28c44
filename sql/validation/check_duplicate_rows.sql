-- check: duplicate_rows
-- severity: error
-- level: row
-- description: each (entity_id, period_start) appears once
with counted as (
    select
        *,
        count(*) over (partition by "entity_id", "_period_date") as n_copies
    from stg_rows
    where "_period_date" is not null
),

final as (
    select
        'entity_id, period_start' as column_name,
        "_source_row" + 1 as line,
        "entity_id",
        "period_start",
        "entity_id" || ' @ ' || "period_start" as value,
        'duplicate (entity_id, period_start), ' || n_copies || ' copies' as problem
    from counted
    where n_copies > 1
)

select * from final
order by "entity_id", "period_start", line
