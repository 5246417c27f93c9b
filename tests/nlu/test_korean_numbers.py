"""Korean numbers as callers say them, to digits: Sino-Korean and native, spoken and keyed."""

from __future__ import annotations

import pytest

from nlu.numbers import digits_only, korean_count, korean_digits, korean_to_digits, words_to_digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("이 육 일 일", "2611"),  # a ticket number read digit by digit
        ("이 육 일 일이요", "2611"),  # 일 + 이요, not 일이 (12)
        ("접수 번호 칠 칠 삼 영번이요", "7730"),
        ("이육일일", "2611"),
        ("이천육백십일", "2611"),  # read as one number
        ("공일공 일이삼사 오육칠팔", "01012345678"),  # a phone number keeps its leading 0
        ("010-1234-5678", "01012345678"),  # keyed or written by Whisper
        ("하나 둘 셋 넷", "1234"),  # native digit names
        ("2611", "2611"),
        ("잘 모르겠어요", ""),
    ],
)
def test_korean_digits_as_said(said: str, digits: str) -> None:
    assert digits_only(said) == digits


@pytest.mark.parametrize(
    ("said", "count"),
    [
        ("가로등 세 개요", 3),
        ("두 마리", 2),
        ("두마리가 있어요", 2),
        ("한 대", 1),
        ("열두 개", 12),
        ("열 두 개", 12),
        ("스물다섯 마리", 25),
        ("하나요", 1),
        ("셋", 3),
        ("다섯", 5),
        ("아홉 개 정도", 9),
        ("삼 개", 3),
        ("3개", 3),
        ("네 맞아요", None),  # 네 is "yes", a four only before a counter
        ("한 번 더 말해 주세요", None),
        ("열이 나요", None),
    ],
)
def test_korean_counts(said: str, count: int | None) -> None:
    assert korean_count(said) == count


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("십이 가 삼사오육", "12가 3456"),  # a plate read aloud
        ("일 이 가 삼 사 오 육", "12가 3456"),
        ("흰색 차 12가 3456", "흰색 차 12가 3456"),
        ("중앙로 십이", "중앙로 12"),
        ("삼십오번지", "35번지"),
        ("개 두 마리가 있어요", "개 2마리가 있어요"),
        ("세 시간째 울려요", "3시간째 울려요"),
        ("이 근처 사이", "이 근처 사이"),  # words spelled like numerals stay words
    ],
)
def test_korean_numbers_in_answers(said: str, written: str) -> None:
    assert korean_to_digits(said) == written


def test_answers_cleaned_for_officers_read_korean_counts_and_leave_english_alone() -> None:
    # words_to_digits is what the forms' answers go through (nlu/actions/complaint.py).
    assert words_to_digits("가로등 세 개요", lone_one=True) == "가로등 3개요"
    assert words_to_digits("three lights are out") == "3 lights are out"


def test_ticket_numbers_read_back_digit_by_digit_in_korean() -> None:
    assert korean_digits("2611230042") == "이 육 일 일 이 삼 공 공 사 이"
    assert digits_only(korean_digits("2611230042")) == "2611230042"
