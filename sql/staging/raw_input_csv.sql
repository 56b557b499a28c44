-- raw_input: one row per data row of the input CSV, every column as text, numbered.
-- Read as text on purpose: a bad value becomes an offending row to show, not a reader crash.
-- Params: $path
with source as (
    select *
    from read_csv(
        $path,
        all_varchar = true,
        header = true,
        delim = ',',
        quote = '"',
        escape = '"',
        auto_detect = true
    )
),

final as (
    select row_number() over () as "_source_row", *
    from source
)

select * from final
