-- canonical_data: one row per period (brand-time grain), one typed DOUBLE column per used column.
with final as (
    pivot brand_period_values
    on column_name
    using first(value)
    group by period_start
)

select * from final order by period_start
