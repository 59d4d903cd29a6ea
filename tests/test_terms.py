"""Query text -> FTS5 expressions, tested as text (the SQL that runs them is the store's)."""

from hypothesis import given
from hypothesis import strategies as st

from embeddings.search.terms import fts_phrase, fts_query, query_terms


def test_content_words_are_kept_once_in_order_and_lowercased():
    assert query_terms("Who brought up the Dewey Commission, the DEWEY one?") == [
        "brought",
        "up",
        "dewey",
        "commission",
        "one",
    ]


def test_a_question_of_stopwords_only_keeps_them():
    assert query_terms("who was it") == ["who", "was", "it"]


def test_fts_query_is_an_or_of_quoted_terms():
    assert fts_query("Ryutin platform?") == '"ryutin" OR "platform"'
    assert fts_query("?!  ...") is None


def test_fts_syntax_in_a_question_stays_literal():
    assert fts_phrase('say "NEAR"') == '"say ""NEAR"""'
    assert fts_query("title:x AND y* NOT (z)") == '"title" OR "x" OR "y" OR "z"'


@given(st.text(max_size=200))
def test_any_text_gives_a_well_formed_expression(text):
    expression = fts_query(text)
    if expression is None:
        assert query_terms(text) == []
        return
    for part in expression.split(" OR "):
        assert part.startswith('"') and part.endswith('"')
        assert '"' not in part[1:-1].replace('""', "")
