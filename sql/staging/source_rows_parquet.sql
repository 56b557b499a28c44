-- source_rows(path): a table macro reading the input Parquet file, every column cast to text.
-- Same shape as source_rows_csv.sql, so every later file reads either format the same way.
create or replace macro source_rows(path) as table
    select columns(*)::varchar
    from read_parquet(path)
