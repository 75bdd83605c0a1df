from headline_dedup.normalize import content_words, normalize, strip_publisher


def test_unicode_case_and_punctuation_fold():
    assert normalize("Fed\u2019s  Dovish\tTone: Dollar Lower!") == "fed dovish tone dollar lower"
    assert normalize("\uff21\uff22\uff23 News") == "abc news"  # NFKC folds full-width letters


def test_trailing_publisher_tags_are_stripped():
    base = "fed dovish tone sends dollar lower"
    for title in (
        "Fed's Dovish Tone Sends Dollar Lower - Reuters",
        "Fed's Dovish Tone Sends Dollar Lower | CNN",
        "Fed's Dovish Tone Sends Dollar Lower \u2014 BBC News",
        "(AP) Fed's Dovish Tone Sends Dollar Lower",
        "Fed's Dovish Tone Sends Dollar Lower (Reuters)",
    ):
        assert normalize(title) == base, title


def test_source_name_is_stripped_even_without_separator():
    assert strip_publisher("Stocks fall Business Insider", "Business Insider") == "Stocks fall"


def test_sentence_tails_are_kept():
    assert normalize("Stocks rise - and why it matters") == "stocks rise and why it matters"


def test_content_words_drop_stop_words():
    assert content_words("the fed and the dollar") == ["fed", "dollar"]
