"""Answers that are not JSON: batch responses and the HTML error pages Google's front end
sends for a URL or method no API serves."""

import html

# Google's front end answers a path no API serves with this page (404), and a method a path
# does not accept with the same page for 405; not the JSON error body of the APIs.
_PAGE = ("<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <meta name=viewport "
         "content=\"initial-scale=1, minimum-scale=1, width=device-width\">\n  <title>Error "
         "%(code)d (%(title)s)!!1</title>\n  <a href=//www.google.com/><span id=logo "
         "aria-label=Google></span></a>\n  <p><b>%(code)d.</b> <ins>That\u2019s an error.</ins>\n"
         "  <p>%(text)s  <ins>That\u2019s all we know.</ins>\n")


class RawBody:
    """An answer that is not JSON: the server sends ``data`` with ``content_type``."""

    def __init__(self, content_type, data):
        self.content_type = content_type
        self.data = data


class NoSuchUrl(Exception):
    """No API serves this path (404) or this method on it (405)."""

    def __init__(self, code, method, path):
        super().__init__("%d %s %s" % (code, method, path))
        self.code = code
        self.method = method
        self.path = path

    def page(self):
        url = "<code>%s</code>" % html.escape(self.path)
        if self.code == 405:
            text = "The request method <code>%s</code> is inappropriate for the URL %s." % (
                html.escape(self.method), url)
            title = "Method Not Allowed"
        else:
            text = "The requested URL %s was not found on this server." % url
            title = "Not Found"
        body = _PAGE % {"code": self.code, "title": title, "text": text}
        return RawBody("text/html; charset=UTF-8", body.encode())
