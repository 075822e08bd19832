"""The shared bottom of the back office: who acted (actors), the accounts' local calendar,
append-only records and their audit fields, CSV safety, the estimated-count paginator,
environment parsing, progress on long commands, staff roles.

Everything above may import from here; nothing here imports an app of the product
(import-linter's layers contract, `.importlinter`)."""
