-- stg_column_roles: one row per used column with its role -- the list views join against.
-- Params: $used_columns (VARCHAR[]), $target_col
with used as (
    select unnest($used_columns) as column_name
),

final as (
    select
        column_name,
        case
            when column_name = $target_col then 'target'
            when starts_with(column_name, 'act_') then 'activity'
            when starts_with(column_name, 'spend_') then 'spend'
            when starts_with(column_name, 'ctrl_') then 'control'
        end as role
    from used
)

select * from final
