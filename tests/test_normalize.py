from headline_dedup.normalize import content_words, normalize, strip_publisher, words


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


def test_revision_marks_and_datelines_are_stripped():
    assert normalize("UPDATE 2-McDonald's US sales continue to struggle") == "mcdonald us sales continue to struggle"
    assert normalize("AUGUSTA, Maine (AP) \u2014 Maine's unemployment fell") == "maine unemployment fell"
    assert normalize("LONDON, March 10 (Reuters) - Oil falls") == "oil falls"
    # Not a dateline: a sentence that happens to hold a wire tag keeps its words.
    assert normalize("Fed says (Reuters) - rates hold") == "fed says reuters rates hold"


def test_unspaced_scripts_become_tagged_character_pairs():
    assert words(normalize("東北沖でM7.3の地震")) == ["ja:東北", "ja:北沖", "で", "ja:m7", "3", "の", "ja:地震"]
    assert content_words(normalize("日本东北发生地震"))[:2] == ["zh:日本", "zh:本东"]
    # Thai vowels and tone marks (combining marks) stay inside their word.
    assert normalize("แผ่นดินไหว ที่ญี่ปุ่น") == "แผ่นดินไหว ที่ญี่ปุ่น"
    assert normalize("नमस्ते दुनिया").split() == ["नमस्ते", "दुनिया"]
    assert words("fed holds rates") == ["fed", "holds", "rates"]
