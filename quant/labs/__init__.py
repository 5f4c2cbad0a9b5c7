"""CTCAE v5.0 grading of laboratory values (pure: no Django)."""

from quant.labs.grading import LabGrade, LabGradeError, LabInput, grade, grade_values, lab_input

__all__ = ["LabGrade", "LabGradeError", "LabInput", "grade", "grade_values", "lab_input"]
