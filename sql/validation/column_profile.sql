-- column_profile: one row per used column -- counts behind the summary's missingness table.
with final as (
    select
        column_name,
        any_value(role) as role,
        count(*) as n_rows,
        count(*) filter (where value_text is null or trim(value_text) = '') as n_missing,
        count(*) filter (where trim(value_text) <> '' and value is null) as n_non_numeric,
        min(value) filter (where isfinite(value)) as min_value,
        max(value) filter (where isfinite(value)) as max_value,
        avg(value) filter (where isfinite(value)) as mean_value
    from stg_observations
    group by column_name
)

select * from final order by column_name
