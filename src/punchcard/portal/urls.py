from django.urls import path

from .views import actions, buying, pages

app_name = "portal"

# Mounted at /portal/ (punchcard.urls); the entry is tenancy.portal_links.PATH.
urlpatterns = [
    path("open/<str:token>/", pages.open_link, name="open"),
    path("", pages.home, name="home"),
    path("receipts/<int:receipt_id>/pdf/", pages.receipt_pdf, name="receipt_pdf"),
    path("orders/<int:order_id>/invoice/", pages.invoice, name="invoice"),
    path("memberships/invoices/<int:invoice_id>/", pages.membership_invoice, name="membership_invoice"),
    path("claim/", actions.claim, name="claim"),
    path("buy/", buying.buy, name="buy"),
    path("buy/paid/", buying.paid, name="paid"),
    path("orders/<int:order_id>/pay/", buying.pay_again, name="pay_again"),
    path("leave/", pages.leave, name="leave"),
]
