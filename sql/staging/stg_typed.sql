-- stg_typed: one row per input row, wide: the two keys as text, every used column as DOUBLE
-- (NULL where a cell is blank or not a number). Read straight from the file in one parallel
-- pass; every screen and the brand-time aggregation read this compact table, not the text.
-- Column names arrive as the bound list $used_columns, matched by COLUMNS(lambda ...).
-- Params: $path, $used_columns (VARCHAR[])
with final as (
    select
        "entity_id",
        "period_start",
        try_cast(columns(lambda c: list_contains($used_columns, c)) as double)
    from source_rows($path)
)

select * from final
