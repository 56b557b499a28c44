-- canonical_data: one row per period (brand-time grain), one DOUBLE column per used column.
-- Target, activity and spend are summed over entities; controls ($averaged_columns) averaged.
-- Each value is cast to DECIMAL(38, 10) before aggregating: integer sums are exact, so the
-- result does not depend on the input's row order or on how DuckDB splits the scan across
-- threads (a float sum does), and it costs a plain hash aggregate instead of a sort per period.
-- Values are kept to 1e-10; sums must stay below 1e28. `period_index` is matched by the second
-- COLUMNS only to keep it non-empty for datasets without controls; the caller drops it.
-- Params: $summed_columns (VARCHAR[]), $averaged_columns (VARCHAR[])
with dated as (
    select
        t.*,
        p."_period_date",
        p.period_index
    from stg_typed as t
    inner join stg_periods as p on t."period_start" = p."period_start"
),

brand as (
    select
        "_period_date" as period_start,
        sum(columns(lambda c: list_contains($summed_columns, c))::decimal(38, 10))::double,
        avg(
            columns(lambda c: list_contains($averaged_columns, c) or c = 'period_index')
            ::decimal(38, 10)
        ),
        count(*) as "_n_rows"
    from dated
    group by "_period_date"
),

final as (
    select * from brand
)

select * from final
order by period_start
