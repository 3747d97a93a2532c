# No views: the driver calls Django's APIs directly. ROOT_URLCONF must still name a module.
urlpatterns = []
