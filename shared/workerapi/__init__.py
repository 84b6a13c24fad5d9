"""The internal worker API: the routes workers call (`/internal/v1/**`, served by the `internal`
function), their client in the worker, and the server side of the worker tools. The contract both
sides share (environment, resolved agent, tool set) is `shared.models.worker_contract`."""
