"""The faust adapter: topics, tables, the clock timer and one thin agent; decisions are the
domain's pure worker step."""
