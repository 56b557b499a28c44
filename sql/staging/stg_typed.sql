-- stg_typed: one row per input row, wide: keys, parsed period, every used column as DOUBLE.
-- The compact form the brand-time aggregation reads (8 bytes a value instead of text).
-- Column names arrive as the bound list $used_columns, matched by COLUMNS(lambda ...).
-- Params: $used_columns (VARCHAR[])
with final as (
    select
        "_source_row",
        "entity_id",
        "_period_date",
        try_cast(trim(columns(lambda c: list_contains($used_columns, c))) as double)
    from stg_rows
)

select * from final
