-- check: unparseable_dates
-- severity: error
-- level: row
-- description: every period_start parses as a date in the dataset's date_format
-- Params: $date_format
with final as (
    select
        'period_start' as column_name,
        "_source_row" + 1 as line,
        "entity_id",
        "period_start",
        "period_start" as value,
        'not a valid date in format ' || $date_format as problem
    from stg_rows
    where "_period_date" is null and trim(coalesce("period_start", '')) <> ''
)

select * from final
order by line
