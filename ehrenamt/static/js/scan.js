// The partner's check page: scan the card's QR code with the camera (jsQR, served by the
// app) or type the number; the server checks the code and the answer is shown in place.
// Without JavaScript the form posts and the server renders the answer page.
(function () {
  "use strict";
  var form = document.getElementById("check-form");
  var scanner = document.getElementById("scanner");
  var texts = document.getElementById("scan-texts").dataset;
  var video = document.getElementById("scan-video");
  var canvas = document.getElementById("scan-canvas");
  var startButton = document.getElementById("scan-start");
  var stopButton = document.getElementById("scan-stop");
  var statusLine = document.getElementById("scan-status");
  var stream = null;

  function showVerdict(answer) {
    var section = document.getElementById("verdict");
    section.dataset.status = answer.status;
    section.querySelectorAll("[data-verdict]").forEach(function (panel) {
      panel.hidden = panel.dataset.verdict !== answer.status;
    });
    var card = document.getElementById("verdict-card");
    card.hidden = !answer.holder_name;
    document.getElementById("verdict-name").textContent = answer.holder_name || "";
    document.getElementById("verdict-type").textContent = answer.card_type || "";
    document.getElementById("verdict-until").textContent = answer.valid_until || "";
    section.hidden = false;
    section.scrollIntoView({ block: "start" });
  }

  // A mistyped number: the server's message at the field, as the page without JavaScript
  // shows it; what was typed stays for correcting.
  function showTypo(message) {
    var input = form.elements.code;
    var error = document.getElementById("code-error");
    if (!error) {
      error = document.createElement("p");
      error.className = "error";
      error.id = "code-error";
      input.closest(".field").appendChild(error);
      var described = (input.getAttribute("aria-describedby") || "").split(" ");
      input.setAttribute("aria-describedby", described.concat("code-error").join(" ").trim());
    }
    error.textContent = message;
    input.closest(".field").classList.add("has-error");
    input.setAttribute("aria-invalid", "true");
    document.getElementById("verdict").hidden = true;
    input.focus();
  }

  function clearTypo() {
    var input = form.elements.code;
    var error = document.getElementById("code-error");
    if (error) {
      error.remove();
    }
    var described = (input.getAttribute("aria-describedby") || "")
      .split(" ")
      .filter(function (id) {
        return id && id !== "code-error";
      });
    if (described.length) {
      input.setAttribute("aria-describedby", described.join(" "));
    } else {
      input.removeAttribute("aria-describedby");
    }
    input.removeAttribute("aria-invalid");
    input.closest(".field").classList.remove("has-error");
  }

  function check(code) {
    statusLine.textContent = texts.checking;
    clearTypo();
    var benefit = form.elements.benefit ? form.elements.benefit.value : "";
    var body = { code: code };
    if (benefit) {
      body.benefit = benefit;
    }
    return fetch(form.dataset.resultUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": form.elements.csrf_token.value,
      },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        if (response.status === 429) {
          return response
            .json()
            .catch(function () {
              return {};
            })
            .then(function (refusal) {
              throw new Error(
                refusal.error === "too_many_failed_codes" ? texts.tooManyFailed : texts.tooMany,
              );
            });
        }
        if (response.status === 422) {
          return response.json().then(function (refusal) {
            return { typo: refusal.message };
          });
        }
        if (!response.ok) {
          throw new Error(texts.failed);
        }
        return response.json();
      })
      .then(function (answer) {
        statusLine.textContent = "";
        if (answer.typo) {
          showTypo(answer.typo);
          return false;
        }
        showVerdict(answer);
        return true;
      })
      .catch(function (error) {
        var refused = [texts.tooMany, texts.tooManyFailed].indexOf(error.message) >= 0;
        statusLine.textContent = refused ? error.message : texts.failed;
      });
  }

  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach(function (track) {
        track.stop();
      });
      stream = null;
    }
    video.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
  }

  function scanFrame() {
    if (!stream) {
      return;
    }
    if (video.readyState >= video.HAVE_ENOUGH_DATA && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      var context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(image.data, image.width, image.height, {
        inversionAttempts: "dontInvert",
      });
      if (found && found.data) {
        stopCamera();
        check(found.data);
        return;
      }
    }
    window.requestAnimationFrame(scanFrame);
  }

  function startCamera() {
    statusLine.textContent = texts.scanning;
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (mediaStream) {
        stream = mediaStream;
        video.srcObject = mediaStream;
        video.hidden = false;
        startButton.hidden = true;
        stopButton.hidden = false;
        return video.play();
      })
      .then(function () {
        window.requestAnimationFrame(scanFrame);
      })
      .catch(function () {
        stopCamera();
        statusLine.textContent = texts.noCamera;
      });
  }

  form.addEventListener("submit", function (event) {
    var code = form.elements.code.value.trim();
    if (!code) {
      return; // the server answers with the field's error
    }
    event.preventDefault();
    check(code).then(function (answered) {
      if (answered) {
        form.elements.code.value = "";
      }
    });
  });

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.jsQR) {
    scanner.hidden = false;
    startButton.addEventListener("click", startCamera);
    stopButton.addEventListener("click", function () {
      stopCamera();
      statusLine.textContent = "";
    });
  }
})();
