"""`ticker serve`: the live page, Atom and JSON feeds, a JSON API over the database.

Read-only, like `ticker tail`: no scheduler, no Apprise, no secrets but the web token.
app.py routes requests; reader.py owns the database connection (one thread); page.py
renders HTML; feeds.py renders Atom and JSON Feed; live.py fans new alerts out to the
page's server-sent-event streams; serve.py runs it all under uvicorn.
"""
