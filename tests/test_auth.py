"""Staff sign-in, sessions and accounts."""

from helpers import add_staff, sign_in


def test_admin_entry_leads_signed_out_visitors_to_sign_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/sign-in?next=/admin/")
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and 'type="password"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
