-- canonical_data: one row per period (brand-time grain), one DOUBLE column per used column.
-- Target, activity and spend are summed over entities; controls ($averaged_columns) averaged.
-- Aggregates run in entity order, so float sums do not depend on the input's row order or on
-- how DuckDB splits the scan across threads. `_source_row` is matched by the second COLUMNS
-- only to keep it non-empty for datasets without controls; the caller drops it.
-- Params: $summed_columns (VARCHAR[]), $averaged_columns (VARCHAR[])
with brand as (
    select
        "_period_date" as period_start,
        sum(columns(lambda c: list_contains($summed_columns, c)) order by "entity_id"),
        avg(
            columns(lambda c: list_contains($averaged_columns, c) or c = '_source_row')
            order by "entity_id"
        ),
        count(*) as "_n_rows"
    from stg_typed
    group by "_period_date"
),

final as (
    select * from brand
)

select * from final order by period_start
