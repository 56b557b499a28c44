-- raw_input: one row per data row of the input, every column as text, numbered in file order.
-- Built only when the screen (validation/screen.sql) finds a problem, or a full validation is
-- asked for: line numbers and original text are what the row-level checks report.
-- Params: $path
with final as (
    select
        row_number() over () as "_source_row",
        *
    from source_rows($path)
)

select * from final
