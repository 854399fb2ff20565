"""HTTP plumbing shared by pages and the API: dependencies, route access, middleware, error mapping."""
