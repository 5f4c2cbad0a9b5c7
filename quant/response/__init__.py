"""Tumour response: RECIST 1.1 and iRECIST, time-point and best overall responses with the rule that fired.

References: Eisenhauer et al., New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1), Eur J Cancer 2009;45:228-247 (Tables 1-5); Seymour et al., iRECIST: guidelines for response
criteria for use in trials testing immunotherapeutics, Lancet Oncol 2017;18:e143-e152 (Table 2).

Public functions:

- ``evaluate.evaluate(lesions, assessments, settings)`` -> ``recist.Evaluation``;
- ``recist.validate_baseline_selection``, ``recist.overall_response``, ``recist.target_response``,
  ``recist.non_target_response``, ``recist.best_overall_recist``; ``irecist.add_irecist``,
  ``irecist.best_overall_irecist``;
- ``request.evaluate_request(json)``: the ``recist_evaluate`` command's request and answer format.
"""
