-- stg_rows: one row per input row, with its period parsed as a DATE (NULL when unparseable).
-- Params: $date_format
with final as (
    select
        *,
        try_strptime(trim("period_start"), $date_format)::date as "_period_date"
    from raw_input
)

select * from final
