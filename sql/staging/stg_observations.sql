-- stg_observations (view): one row per (input row, used column) -- the long form checks read.
-- Long form keeps every check free of column names: the used columns come from the
-- stg_column_roles table, so a hostile header is only ever data, never SQL. A view, so the
-- long form streams through each check instead of being held in memory.
with unpivoted as (
    select
        "_source_row",
        "entity_id",
        "period_start",
        "_period_date",
        column_name,
        value_text
    from stg_rows
    unpivot include nulls (
        value_text for column_name in (
            columns(* exclude ("_source_row", "entity_id", "period_start", "_period_date"))
        )
    )
),

final as (
    select
        u."_source_row",
        u."entity_id",
        u."period_start",
        u."_period_date",
        u.column_name,
        r.role,
        u.value_text,
        try_cast(u.value_text as double) as value
    from unpivoted as u
    inner join stg_column_roles as r using (column_name)
)

select * from final
