"""HTTP routes beyond search, one router per resource; `search_api.app.create_app` mounts them."""
