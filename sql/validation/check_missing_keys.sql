-- check: missing_keys
-- severity: error
-- level: row
-- description: every row has an entity_id and a period_start
-- Offending rows: one per blank key cell.
with keys as (
    select
        "_source_row",
        'entity_id' as column_name,
        "entity_id" as value_text
    from stg_rows
    union all
    select
        "_source_row",
        'period_start' as column_name,
        "period_start" as value_text
    from stg_rows
),

final as (
    select
        k.column_name,
        k."_source_row" + 1 as line,
        r."entity_id",
        r."period_start",
        k.value_text as value,
        'missing value' as problem
    from keys as k
    inner join stg_rows as r using ("_source_row")
    where k.value_text is null or trim(k.value_text) = ''
)

select * from final
order by line, column_name
