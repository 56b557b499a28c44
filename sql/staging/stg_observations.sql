-- stg_observations: one row per (input row, used column) -- the long form every check reads.
-- Long form keeps every check and aggregation free of column names: the used columns arrive as
-- a bound list, so a hostile header is only ever data, never SQL.
-- Params: $used_columns (VARCHAR[]), $target_col
with unpivoted as (
    select "_source_row", "entity_id", "period_start", "_period_date", column_name, value_text
    from stg_rows
    unpivot include nulls (
        value_text for column_name in (
            columns(* exclude ("_source_row", "entity_id", "period_start", "_period_date"))
        )
    )
),

used as (
    select * from unpivoted where list_contains($used_columns, column_name)
),

final as (
    select
        "_source_row",
        "entity_id",
        "period_start",
        "_period_date",
        column_name,
        case
            when column_name = $target_col then 'target'
            when starts_with(column_name, 'act_') then 'activity'
            when starts_with(column_name, 'spend_') then 'spend'
            when starts_with(column_name, 'ctrl_') then 'control'
        end as role,
        value_text,
        try_cast(trim(value_text) as double) as value
    from used
)

select * from final
