app_name = "voluntary"

urlpatterns: list = []
