// The console's only script of its own (the Content-Security-Policy allows no inline handlers):
// a select marked data-autosubmit submits its form when changed; without script, its button does.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field.matches("select[data-autosubmit]") && field.form) field.form.submit();
});
