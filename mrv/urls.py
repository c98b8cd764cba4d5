app_name = "mrv"

urlpatterns: list = []
