"""Exports of submissions: CSV for the list, FHIR R4 resources per submission."""
