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


def test_a_station_tag_among_the_last_parts_goes_with_everything_after_it():
    assert strip_publisher("Fed raises rates - WBOC-TV 16, Delmarva", "WBOC TV 16") == "Fed raises rates"
    assert strip_publisher("Fed raises rates - wistv.com - Columbia", "WIS") == "Fed raises rates"
    assert strip_publisher("Fed raises rates - Wis", "Wisconsin Journal") == "Fed raises rates"  # cut short
    # Only the last three parts are looked at, and a key under three letters matches nothing.
    assert strip_publisher("WBOC wins award - one - two - three - four", "WBOC") == (
        "WBOC wins award - one - two - three - four")
    assert strip_publisher("Stocks rise - ABx news - Today", "AB") == "Stocks rise - ABx news"


def test_a_leading_part_that_is_the_source_goes():
    assert strip_publisher("New Jersey Herald - OECD: growth slows", "New Jersey Herald") == "OECD: growth slows"
    assert strip_publisher("Business Insider", "Business Insider") == "Business Insider"  # nothing else left
    # The source's name found only at the start of the written title: nothing is cut, not everything.
    assert strip_publisher("C.N.N. says C N N", "C.N.N.") == "C.N.N. says C N N"


def test_publisher_tails_are_names_of_at_most_four_words():
    assert strip_publisher("Fed raises rates - Fox News") == "Fed raises rates"
    assert strip_publisher("Fed raises rates : CNN") == "Fed raises rates"
    assert strip_publisher("Fed raises rates -- CNN", "CNN") == "Fed raises rates"
    assert strip_publisher("Fed raises rates - CNN", "NBC") == "Fed raises rates"
    assert strip_publisher("Fed raises rates - Reuters UK", "Reuters") == "Fed raises rates"
    assert strip_publisher("Fed raises rates - Top 10 Picks") == "Fed raises rates - Top 10 Picks"  # a digit
    assert strip_publisher("Fed raises rates - One Two Three Four Five") == "Fed raises rates - One Two Three Four Five"
    assert strip_publisher("(AFP) Fed raises rates") == strip_publisher("Fed raises rates (AFP)") == "Fed raises rates"


def test_apostrophes_fold_and_lone_characters_are_not_content():
    assert normalize("Fed's rate: Trump\u2019s \u2018big\u2019 day  ") == "fed rate trump big day"
    assert normalize("It`s ok") == "it ok"
    assert content_words("a b cd the says report x9") == ["cd", "x9"]


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


def test_the_old_stop_words_constant_still_reads_and_nothing_else_is_made_up():
    from headline_dedup import normalize as module
    from headline_dedup.normalize import stop_words

    assert stop_words() == module.STOP_WORDS and "says" in module.STOP_WORDS
    assert not hasattr(module, "STOP_WORD")
