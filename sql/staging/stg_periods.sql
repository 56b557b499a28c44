-- stg_periods: one row per distinct period_start text, parsed as a DATE (NULL if unparseable).
-- Parsing the few distinct values once keeps stg_rows a view (no copy of the input).
-- Params: $date_format
with final as (
    select distinct
        "period_start",
        try_strptime(trim("period_start"), $date_format)::date as "_period_date"
    from raw_input
    where "period_start" is not null
)

select * from final
