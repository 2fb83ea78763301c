from ninja import NinjaAPI

api = NinjaAPI(title="Punchcard API", version="1", urls_namespace="api-v1")
