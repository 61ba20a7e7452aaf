"""The identity file: a check finds the customer by the cleaned values of the fields asked, whatever the
file's formatting, the first row listed winning; other sets of fields are looked up on their own."""

from __future__ import annotations

from pathlib import Path

from handover.identity import FileDirectory, clean_field

ANA_CPF = "52998224725"
BIA_CPF = "11144477735"


def directory(tmp_path: Path) -> FileDirectory:
    path = tmp_path / "customers.csv"
    path.write_text(
        "cpf,birth_date,email,reference,name\n"
        "529.982.247-25,1990-04-01,ana@example.com,C-1,Ana\n"
        "111.444.777-35,02/03/1985,bia@example.com,C-2,Bia\n"
        "52998224725,1990-04-01,ana2@example.com,C-9,Ana again\n",
        encoding="utf-8",
    )
    return FileDirectory(path)


def test_found_by_cleaned_values_first_row_wins(tmp_path):
    found = directory(tmp_path)
    birth = clean_field("birth_date", "01/04/1990")
    assert found.verify({"cpf": ANA_CPF, "birth_date": birth}) == ("C-1", "Ana")
    assert found.verify({"cpf": BIA_CPF, "birth_date": "1985-03-02"}) == ("C-2", "Bia")


def test_a_wrong_pair_or_another_set_of_fields(tmp_path):
    found = directory(tmp_path)
    assert found.verify({"cpf": ANA_CPF, "birth_date": "1985-03-02"}) is None
    assert found.verify({"email": "ana2@example.com"}) == ("C-9", "Ana again")
    assert found.verify({"cpf": BIA_CPF}) == ("C-2", "Bia")
