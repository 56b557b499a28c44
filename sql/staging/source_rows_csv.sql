-- source_rows(path): a table macro reading the input CSV, every column as text.
-- One definition of how the file is read, shared by stg_typed (every run) and raw_input (only
-- when the screen finds something to explain). Text on purpose: a bad value becomes an
-- offending row to show, not a reader crash.
create or replace macro source_rows(path) as table
    select *
    from read_csv(
        path,
        all_varchar = true,
        header = true,
        delim = ',',
        quote = '"',
        escape = '"',
        auto_detect = true
    )
