-- stg_periods: one row per distinct period_start text (NULL included), parsed as a DATE (NULL if
-- unparseable), with period_index: the date's position among all distinct dates (0, 1, ...).
-- Parsing the few distinct values once keeps every per-row table free of date parsing.
-- Params: $date_format
with texts as (
    select distinct "period_start" from stg_typed
),

parsed as (
    select
        "period_start",
        try_strptime(trim("period_start"), $date_format)::date as "_period_date"
    from texts
),

final as (
    select
        "period_start",
        "_period_date",
        case
            when "_period_date" is not null
                then dense_rank() over (order by "_period_date") - 1
        end as period_index
    from parsed
)

select * from final
