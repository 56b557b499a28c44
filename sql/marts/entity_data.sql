-- entity_data: one row per entity and period (model.level=entity), one DOUBLE column per used
-- column: the panel as fitted, without the brand mart's sum over entities. Each value is cast to
-- DECIMAL(38, 10) before aggregating, as in canonical_data, so a repeated (entity, period) row
-- (validation rejects those) could not make the result depend on the scan order.
-- Params: $summed_columns (VARCHAR[]), $averaged_columns (VARCHAR[])
with dated as (
    select
        t.*,
        p."_period_date",
        p.period_index
    from stg_typed as t
    inner join stg_periods as p on t."period_start" = p."period_start"
),

panel as (
    select
        "entity_id",
        "_period_date" as period_start,
        sum(columns(lambda c: list_contains($summed_columns, c))::decimal(38, 10))::double,
        avg(
            columns(lambda c: list_contains($averaged_columns, c) or c = 'period_index')
            ::decimal(38, 10)
        )
    from dated
    group by "entity_id", "_period_date"
),

final as (
    select * from panel
)

select * from final
order by "entity_id", period_start
