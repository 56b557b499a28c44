-- raw_input: one row per row of the input Parquet file, every column cast to text, numbered.
-- Same shape as raw_input_csv.sql, so every later file reads either source.
-- Params: $path
with source as (
    select columns(*)::varchar
    from read_parquet($path)
),

final as (
    select row_number() over () as "_source_row", *
    from source
)

select * from final
