-- stg_rows (view): one row per input row, with its period parsed as a DATE (NULL if unparseable).
with final as (
    select
        r.*,
        p."_period_date"
    from raw_input as r
    left join stg_periods as p on r."period_start" = p."period_start"
)

select * from final
